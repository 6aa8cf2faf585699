"""wfgateway: one gateway for the workflow APIs of several vendors, on one engine."""

__version__ = "0.1.0"
