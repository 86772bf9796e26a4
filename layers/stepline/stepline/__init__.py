"""Stepline: CodePipeline's model, compiled to Amazon States Language."""

__version__ = "0.1.0"
