"""edgeneuro: compile neural networks to plain C for Arm Cortex-M and measure them on the board."""

__version__ = "0.1.0"
