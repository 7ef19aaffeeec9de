"""Pure roster-reading library: vet an upload, parse a roster, mark errors, build the template."""
