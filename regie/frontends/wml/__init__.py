"""WML decks for WAP phones; their data comes from GraphQL documents executed in process."""
