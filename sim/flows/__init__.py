"""One module per flow through the heads: supply orders and packages, emergencies."""
