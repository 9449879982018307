"""Technical (safe-broadcast) checks on frames and audio, each with hysteresis."""
