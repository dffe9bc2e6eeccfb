"""Recording a run: manifest model and schema, before/after state, git context."""
