"""Built-in backends; each is a plugin registered like third-party ones."""
