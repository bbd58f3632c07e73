"""The read-only SPARQL 1.1 endpoint and its pages."""
