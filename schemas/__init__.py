"""The network's shared contracts: the topic catalog, event schemas, codecs and formats.

Every service agrees with every other through what lives here, and this package imports
nothing else of ours.
"""
