"""The rule language: rule files read into plain data (model), checked against a vocabulary passed in,
with their expressions and formulas parsed, never evaluated as Python."""
