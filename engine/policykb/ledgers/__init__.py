"""Evidence ledgers (台账): read a spreadsheet, convert its rows to RDF evidence, import it into the
knowledge base all or nothing, and write blank templates."""
