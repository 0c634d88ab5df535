"""Fault injection: links, blackholes, resets, netem, freeze, portal/TPG removal, corruption."""
