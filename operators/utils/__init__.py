"""Helpers the hooks share: connection settings, retries, ClientTokens, tags, audit and error mapping."""
