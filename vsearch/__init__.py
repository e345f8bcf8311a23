"""vsearch: offline forensic video search and synopsis for recorded CCTV footage."""

__version__ = "0.1.0"
