"""The café example (``examples/cafe/``) that ``rewardkit demo`` runs: its programme
and its action generator, copied here so the demo works wherever rewardkit is installed."""
