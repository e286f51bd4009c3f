"""Blueprints: thin routes (form -> validate -> one service call -> commit -> redirect or render)."""
