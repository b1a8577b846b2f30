"""Imports each family module so its ``@register_model`` calls run."""

from . import alexnet, cnn, fast, lenet5, mlp, nas, regnet, resnet, rnn, vgg, vit  # noqa: F401
