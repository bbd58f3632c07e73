"""Documents people read and sign: published results, diffs, the filled-in form, charts and pages."""
