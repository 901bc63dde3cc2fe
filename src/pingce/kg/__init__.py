"""Knowledge-graph construction quality: triple matching, SHACL, the steel reference material."""
