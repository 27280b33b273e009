"""Task packages built on the zoo: classification, detection, time-series forecasting."""
