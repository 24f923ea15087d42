"""EEG data in: EDF/EDF+ recordings, SzCORE/BIDS and CHB-MIT seizure annotations, a synthetic EEG
generator, and labelled windows for training."""
