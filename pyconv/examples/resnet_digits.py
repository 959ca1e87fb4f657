"""Train a small residual network with batch normalisation on scikit-learn's digits.

    python -m pyconv.examples.resnet_digits [--epochs 12] [--batch-size 32] [--lr 0.003] [--seed 0]
                                            [--width 16] [--threads N] [--subset N]
                                            [--out resnet_digits.png]

The data are the 1,797 8x8 digit images shipped inside scikit-learn (load_digits, no download),
upsampled 2x (nearest neighbour) to 16x16; a stratified 20% is held out for testing. The network
follows ResNet (He et al., 2016) at a small scale: a 3x3 convolution stem, three stages of two
basic blocks (two 3x3 convolutions, each followed by BatchNorm2d, with an identity shortcut, or a
strided 1x1 convolution + BatchNorm2d where the block halves the size and doubles the width:
16x16 -> 8x8 -> 4x4 at widths w, 2w, 4w), global average pooling and a linear classifier. The
training loop, progress bar, evaluation (in eval mode: BatchNorm's running statistics) and PNG
(curves, first-layer filters, feature maps of one test digit) are the LeNet-5 example's.

scikit-learn and matplotlib are optional extras: pip install "pyconv[examples]"."""
import pyconv.nn as nn
from pyconv.examples import lenet5
from pyconv.nn.init import as_generator

CLASSES = 10


def load_digits_16x16(test_fraction=0.2, seed=0, subset=None):
    """(x_train, y_train, x_test, y_test): float32 images (N, 1, 16, 16), standardised."""
    return lenet5.load_digits(2, 0, test_fraction, seed, subset)


def resnet(width=16, classes=CLASSES, rng=None):
    """The residual network described above, for 1x16x16 inputs."""
    rng = as_generator(rng)

    def conv_bn(c_in, c_out, kernel, stride=1):
        return [nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, bias=False, rng=rng), nn.BatchNorm2d(c_out)]

    def block(c_in, c_out, stride):
        body = nn.Sequential(*conv_bn(c_in, c_out, 3, stride), nn.ReLU(), *conv_bn(c_out, c_out, 3))
        shortcut = nn.Sequential(*conv_bn(c_in, c_out, 1, stride)) if stride != 1 or c_in != c_out else nn.Identity()
        return [nn.Residual(body, shortcut), nn.ReLU()]

    layers = conv_bn(1, width, 3) + [nn.ReLU()]
    channels = width
    for stage, c_out in enumerate((width, 2 * width, 4 * width)):
        layers += block(channels, c_out, 1 if stage == 0 else 2) + block(c_out, c_out, 1)
        channels = c_out
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, classes, rng=rng))


def main(argv=None):
    def model_arguments(parser):
        parser.add_argument("--width", type=int, default=16, help="channels of the first stage")

    args = lenet5.parse_arguments(argv, "python -m pyconv.examples.resnet_digits", __doc__, 12, 3e-3,
                                  "resnet_digits.png", model_arguments)
    if args.width < 1:
        raise SystemExit("--width must be positive")
    data = load_digits_16x16(seed=args.seed, subset=args.subset)
    model = resnet(args.width, rng=args.seed)
    # feature maps after the stem (conv + BatchNorm + ReLU), then after the first residual block
    return lenet5.run(model, data, args, f"ResNet (width {args.width}, BatchNorm)", (model[:3], model[3:5]),
                      "ResNet")


if __name__ == "__main__":
    main()
