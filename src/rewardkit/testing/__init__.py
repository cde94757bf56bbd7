"""Tools for testing rewardkit and the code built on it.

:mod:`rewardkit.testing.store_contract` holds the contract suite every store must pass,
ours or your own; :mod:`rewardkit.testing.strategies` holds Hypothesis strategies for
policies and whole programmes (it needs the ``testing`` extra).  This package imports
nothing at import time, so neither pytest nor hypothesis is needed to import it.
"""
