"""Pose estimation. Only :mod:`gaitlab.pose.mediapipe_backend` imports mediapipe, and only
:mod:`gaitlab.pose.estimate` imports that; everything downstream works from saved landmarks."""
