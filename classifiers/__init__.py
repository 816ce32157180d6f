"""Model-based classifiers: language ID now; quality, topic and safety models later."""
