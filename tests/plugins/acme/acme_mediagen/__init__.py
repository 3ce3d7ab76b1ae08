"""The Acme media API for mediagen: catalog, generated endpoints and the provider plugin."""
