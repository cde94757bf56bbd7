"""The subcommands of the ``rewardkit`` command (:mod:`rewardkit.cli`)."""
