"""Accuracy of algorithm="winograd" (F(4x4, 3x3)) against the float64 reference, the numbers in
docs/winograd.md and behind the tolerance of tests/test_winograd.py.

For unit-normal input, weights and grad_output (N = 2, 14x14 images by default, padding 1,
C_in = C_out = C) it prints, per dtype, op (forward; input gradient; weight gradient) and C:
  norm    ||y - y_ref|| / ||y_ref||, normwise relative error;
  max     max |y - y_ref| / max |y_ref|;
  suite   max |y - y_ref| / (eps * sqrt(K) * the op on |x|, |w|, |gy|), K = the length of the
          op's sums (9 C; N H W for the weight gradient), the elementwise measure the rest of
          the suite bounds by 4 (im2col's column shows what a GEMM-based sum gives);
  tile    max |y - y_ref| / (eps * sqrt(K) * winograd_magnitude), the elementwise measure the
          Winograd tests bound: Winograd's rounding errors come from the whole 6x6 input patch of
          an output's tile, not only from its 3x3 window (pyconv.reference.winograd_magnitude;
          for the weight gradient, K = 36 tiles and winograd_weight_magnitude: the tiles' sums
          of |gy| times their patches' sums of |x|).
A NumPy model of F(4x4) and F(6x6) in float32 (no blocking, same transforms) shows why F(6x6)
was not chosen: about twice the error, for fewer multiplications only on images whose sides are
multiples of 6.

On AVX-512 calls of at most 8 tiles run the fused micro-kernel (--batch 1 --side 7: one 7x7
image, 4 tiles), the others the GEMM path (conv/winograd_t.h).

--random-shapes N instead measures the tests' "tile" factor (tests/test_winograd.py) on N random
small shapes of the tests' kind (uniform data, 8-20 channels, padding 0-3 on each side, images
from 1x1 up to 14 wider than the kernel needs, N = 1-3): its largest value per dtype, op and tile
count (at most 8 tiles or more).

    python3 -m bench.winograd_error [--channels 8,16,32,64,128,256,512] [--batch 2] [--side 14]
    python3 -m bench.winograd_error --random-shapes 3000 [--seed 7]"""
import argparse

import numpy as np

import pyconv
from pyconv import reference


def measures(got, exact, magnitude, magnitude_w, k, dtype, k_tile=None):
    """k: the op's sum length for "suite"; k_tile: the Winograd tests' for "tile" (default k)."""
    err = np.abs(got.astype(np.float64) - exact)
    eps = np.finfo(dtype).eps
    return (np.linalg.norm(err) / np.linalg.norm(exact), err.max() / np.abs(exact).max(),
            (err / (eps * np.sqrt(k) * magnitude)).max(),
            (err / (eps * np.sqrt(k if k_tile is None else k_tile) * magnitude_w)).max())


def measure_ops(c, dtype, algorithm, rng, n, side):
    x = rng.standard_normal((n, c, side, side))
    w = rng.standard_normal((c, c, 3, 3))
    gy = rng.standard_normal((n, c, side, side))
    xs, ws, gys = x.astype(dtype), w.astype(dtype), gy.astype(dtype)
    x, w, gy = xs.astype(np.float64), ws.astype(np.float64), gys.astype(np.float64)
    k, pixels, tiles = 9 * c, n * side * side, n * (-(-side // 4)) ** 2
    forward = measures(pyconv.conv2d(xs, ws, padding=1, algorithm=algorithm),
                       reference.conv2d(x, w, None, padding=1),
                       reference.conv2d(np.abs(x), np.abs(w), None, padding=1),
                       reference.winograd_magnitude(x, w, (1, 1, 1, 1)), k, dtype)
    # the input gradient is the forward of gy with the flipped, transposed weights, padding 2 - 1
    w_t = w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)
    backward = measures(pyconv.conv2d_input(xs.shape, ws, gys, padding=1, algorithm=algorithm),
                        reference.conv2d_input(x.shape, w, gy, padding=1),
                        reference.conv2d_input(x.shape, np.abs(w), np.abs(gy), padding=1),
                        reference.winograd_magnitude(gy, w_t, (1, 1, 1, 1)), k, dtype)
    weight = measures(pyconv.conv2d_weight(xs, ws.shape, gys, padding=1, algorithm=algorithm),
                      reference.conv2d_weight(x, w.shape, gy, padding=1),
                      reference.conv2d_weight(np.abs(x), w.shape, np.abs(gy), padding=1),
                      reference.winograd_weight_magnitude(x, gy, (1, 1, 1, 1)), pixels, dtype,
                      36 * tiles)
    return forward, backward, weight


def numpy_model(c, rng):
    """Normwise relative error of float32 F(4x4) and F(6x6) models on a (c, 26, 26) image."""
    bt4 = np.array([[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
                    [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]])
    g4 = np.array([[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6],
                   [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]])
    at4 = np.array([[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0],
                    [0, 1, -1, 8, -8, 1]])
    bt6 = np.array([[1, 0, -21 / 4, 0, 21 / 4, 0, -1, 0], [0, 1, 1, -17 / 4, -17 / 4, 1, 1, 0],
                    [0, -1, 1, 17 / 4, -17 / 4, -1, 1, 0], [0, 1 / 2, 1 / 4, -5 / 2, -5 / 4, 2, 1, 0],
                    [0, -1 / 2, 1 / 4, 5 / 2, -5 / 4, -2, 1, 0], [0, 2, 4, -5 / 2, -5, 1 / 2, 1, 0],
                    [0, -2, 4, 5 / 2, -5, -1 / 2, 1, 0], [0, -1, 0, 21 / 4, 0, -21 / 4, 0, 1]])
    g6 = np.array([[1, 0, 0], [-2 / 9, -2 / 9, -2 / 9], [-2 / 9, 2 / 9, -2 / 9],
                   [1 / 90, 1 / 45, 2 / 45], [1 / 90, -1 / 45, 2 / 45], [32 / 45, 16 / 45, 8 / 45],
                   [32 / 45, -16 / 45, 8 / 45], [0, 0, 1]])
    at6 = np.array([[1, 1, 1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 1 / 2, -1 / 2, 0],
                    [0, 1, 1, 4, 4, 1 / 4, 1 / 4, 0], [0, 1, -1, 8, -8, 1 / 8, -1 / 8, 0],
                    [0, 1, 1, 16, 16, 1 / 16, 1 / 16, 0], [0, 1, -1, 32, -32, 1 / 32, -1 / 32, 1]])
    x = rng.standard_normal((c, 26, 26)).astype(np.float32)
    w = rng.standard_normal((16, c, 3, 3)).astype(np.float32)
    exact = reference.conv2d(x[None].astype(np.float64), w.astype(np.float64))[0]
    errors = []
    for bt, g, at in ((bt4, g4, at4), (bt6, g6, at6)):
        bt, g, at = (m.astype(np.float32) for m in (bt, g, at))
        m, alpha = at.shape
        u = np.einsum("ij,kcjl,ml->kcim", g, w, g)
        y = np.zeros((16, 24, 24), np.float32)
        for i in range(0, 24, m):
            for j in range(0, 24, m):
                v = np.einsum("ij,cjl,ml->cim", bt, x[:, i:i + alpha, j:j + alpha], bt)
                y[:, i:i + m, j:j + m] = np.einsum("ij,kjl,ml->kim", at,
                                                   np.einsum("kcim,cim->kim", u, v), at)
        errors.append(np.linalg.norm(y - exact) / np.linalg.norm(exact))
    return errors


def random_shapes(n_shapes, seed):
    """The largest "tile" factor of forward and input gradient over n_shapes random small
    shapes, per dtype, op and tile count: at most 8 tiles (the fused micro-kernel on AVX-512,
    the GEMM path elsewhere) or more (the GEMM path)."""
    rng = np.random.default_rng(seed)
    worst = {}
    for trial in range(n_shapes):
        dtype = (np.float32, np.float64)[trial % 2]
        c_in, c_out = (int(v) for v in rng.integers(8, 21, 2))
        pads = tuple(int(v) for v in rng.integers(0, 4, 4))
        h_min, w_min = max(1, 3 - pads[0] - pads[1]), max(1, 3 - pads[2] - pads[3])
        h, w_ = int(rng.integers(h_min, h_min + 14)), int(rng.integers(w_min, w_min + 14))
        n = int(rng.integers(1, 4))
        kwargs = dict(padding=((pads[0], pads[1]), (pads[2], pads[3])))
        x = rng.uniform(-1, 1, (n, c_in, h, w_)).astype(dtype)
        w = rng.uniform(-1, 1, (c_out, c_in, 3, 3)).astype(dtype)
        x64, w64 = x.astype(np.float64), w.astype(np.float64)
        exact = reference.conv2d(x64, w64, **kwargs)
        gy = rng.uniform(-1, 1, exact.shape).astype(dtype)
        w_t = w64[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)
        eps = np.finfo(dtype).eps
        for op, got, ref, magnitude, k, tiles in (
                ("forward", pyconv.conv2d(x, w, **kwargs, algorithm="winograd"), exact,
                 reference.winograd_magnitude(x64, w64, pads, 1), 9 * c_in,
                 n * -(-exact.shape[2] // 4) * -(-exact.shape[3] // 4)),
                ("input", pyconv.conv2d_input(x.shape, w, gy, **kwargs, algorithm="winograd"),
                 reference.conv2d_input(x.shape, w64, gy.astype(np.float64), **kwargs),
                 reference.winograd_magnitude(gy.astype(np.float64), w_t, tuple(2 - p for p in pads), 1),
                 9 * c_out, n * -(-h // 4) * -(-w_ // 4))):
            factor = (np.abs(got - ref) / (eps * np.sqrt(k) * magnitude)).max()
            key = (np.dtype(dtype).name, op, "<=8" if tiles <= 8 else ">8")
            worst[key] = max(worst.get(key, 0.0), float(factor))
    print(f"largest 'tile' factor over {n_shapes} random small shapes (seed {seed}):")
    for key in sorted(worst):
        print(f"  {key[0]:8} {key[1]:8} {key[2]:>3} tiles {worst[key]:.3f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", default="8,16,32,64,128,256,512")
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--side", type=int, default=14, help="image height and width")
    parser.add_argument("--random-shapes", type=int, default=0, metavar="N")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    if args.random_shapes:
        random_shapes(args.random_shapes, args.seed)
        return
    channels = [int(c) for c in args.channels.split(",")]
    rng = np.random.default_rng(0)
    print(f"{'dtype':8} {'op':8} {'C':>4}  {'norm':>8} {'max':>8} {'suite':>6} {'tile':>6}"
          f"   im2col: {'norm':>8} {'suite':>6}")
    for dtype in (np.float32, np.float64):
        for c in channels:
            wino = measure_ops(c, dtype, "winograd", np.random.default_rng(c), args.batch, args.side)
            gemm = measure_ops(c, dtype, "im2col", np.random.default_rng(c), args.batch, args.side)
            for op, m, g in zip(("forward", "input", "weight"), wino, gemm):
                print(f"{np.dtype(dtype).name:8} {op:8} {c:>4}  {m[0]:8.1e} {m[1]:8.1e} {m[2]:6.2f} "
                      f"{m[3]:6.3f}   im2col: {g[0]:8.1e} {g[2]:6.2f}", flush=True)
    print("\nNumPy float32 models, normwise relative error on a 26x26 image, 16 filters:")
    for c in channels:
        f4, f6 = numpy_model(c, rng)
        print(f"C={c:<4} F(4x4, 3x3) {f4:8.1e}   F(6x6, 3x3) {f6:8.1e}", flush=True)


if __name__ == "__main__":
    main()
