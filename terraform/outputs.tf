output "api_url" {
  value = google_cloudfunctions2_function.functions["api"].service_config[0].uri
}

output "kms_key" {
  value = google_kms_crypto_key.credentials.id
}
