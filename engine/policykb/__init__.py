"""policykb: a rules-engine policy knowledge base for FTZ reform replication and its evaluation."""

__version__ = "0.1.0"
