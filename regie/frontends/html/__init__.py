"""HTML pages; their data comes from GraphQL documents executed in process."""
