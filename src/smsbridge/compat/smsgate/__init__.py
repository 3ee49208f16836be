"""The SMSGate (capcom6/android-sms-gateway) APIs: the device API the Android app calls
(``/api/mobile/v1``) and the integrator API its client libraries call (``/api/3rdparty/v1``)."""
