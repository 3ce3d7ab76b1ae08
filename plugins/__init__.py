"""Built-in provider plugins. Each is an ordinary plugin: the same hooks a third party uses."""
