"""Domain logic and transactions. No GraphQL, no HTTP: every surface goes through here."""
