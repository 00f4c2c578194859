"""What tests share: the scripted Meteroid and its contract checks, helpers, services,
processes and servers, the checkout's root, and the tests' own settings."""
