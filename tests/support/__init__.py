"""What tests share: the contract, the scripted Meteroid's checks, servers and browsers."""
