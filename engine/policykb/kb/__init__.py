"""The knowledge base: where its files are, the store derived from them, loading, validation and
the named SPARQL queries. Nothing here knows of rules, ledgers or scores."""
