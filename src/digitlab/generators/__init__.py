"""Generator zoo: a registry of class-conditional digit generators, one file per family."""

from . import cdcgan, cvae, wgan_gp  # noqa: F401  (each family registers itself on import)
from .registry import Generative, GeneratorSpec, create_generator, generator_spec, list_generators, register_generator

__all__ = ["Generative", "GeneratorSpec", "create_generator", "generator_spec", "list_generators", "register_generator"]
