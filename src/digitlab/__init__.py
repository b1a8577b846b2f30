"""digitlab: a handwritten-digit lab — train, record, compare, tune and ship digit recognisers."""

__version__ = "0.1.0"
