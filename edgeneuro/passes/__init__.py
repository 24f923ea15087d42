"""Graph → Graph passes, each a pure function."""
