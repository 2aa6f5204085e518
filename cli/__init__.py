"""The command line: the one place that wires inputs to output files."""
