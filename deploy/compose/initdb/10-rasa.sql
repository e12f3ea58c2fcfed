-- Rasa's SQLTrackerStore keeps its trackers in a database of its own
CREATE DATABASE rasa OWNER taxbot;
