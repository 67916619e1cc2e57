"""The domain's values, importing nothing else of the layer: records, errors, commands, the
principal, formats, the scope and route catalog, audit documents, and what a change means
(changes: plans the store writes)."""
