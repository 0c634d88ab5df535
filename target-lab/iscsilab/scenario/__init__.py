"""Scenario files and the runner that plays them against real LIO (the top layer: it imports
everything below it, nothing imports it). load.py reads and checks files, model.py is what they
become, the runner and its reports live beside them."""
