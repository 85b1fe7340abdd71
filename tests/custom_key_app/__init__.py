"""A site's own key model, as a site would write it: proves that
"bring your own key model" works (see tests/test_custom_key_model.py)."""
