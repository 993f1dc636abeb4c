/* Notifications (libcurl 8.17.0): curl_multi_notify_enable(3), CURLMOPT_NOTIFYFUNCTION(3). */

CURLMcode pcb_multi_notify_set(CURLM *m, unsigned int notification, int on);
