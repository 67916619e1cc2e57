"""The wire: the API's JSON shapes (models) and the HTTP resolver with the one error map (http)."""
