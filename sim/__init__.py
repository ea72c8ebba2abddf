"""Lockdown logistics simulator: a community's five-level grid of heads under lockdown."""
