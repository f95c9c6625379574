'use strict';

// Lupa sandi: three steps on one page (data akun → kode OTP → sandi baru).
// The step, name, phone, timers, the request id and resetToken survive a reload in
// sessionStorage; the OTP and the passwords never leave memory.

const STORAGE_KEY = 'otp-reset-state';
const API = '/api/forgot-password';
const OTP_TTL_MS = 15 * 60 * 1000;
const DEFAULT_COOLDOWN_S = 60;
const REDIRECT_DELAY_MS = 2000;
const REQUEST_TIMEOUT_MS = 30000;
// Polling /delivery-status: the first look after 1 s, then each wait 1.5× the last, up to 5 s.
const POLL_FIRST_MS = 1000;
const POLL_MAX_MS = 5000;
const POLL_GROWTH = 1.5;
const NEEDS_NEW_CODE = ['otp_attempts_exhausted', 'otp_expired', 'otp_not_found'];
const FIELD_FOR_ERROR = {
  name_required: 'nama', phone_required: 'noHp', invalid_phone: 'noHp', phone_not_mobile: 'noHp',
  otp_required: 'otp', invalid_otp_format: 'otp', wrong_otp: 'otp',
  new_password_required: 'newPassword', password_too_short: 'newPassword', password_too_long: 'newPassword',
  confirm_password_required: 'confirmPassword', password_mismatch: 'confirmPassword',
};
const MSG = {
  network: 'Tidak dapat terhubung ke server. Periksa koneksi Anda.',
  server: 'Terjadi gangguan pada server. Silakan coba lagi nanti.',
  expired: 'Kode OTP sudah kedaluwarsa. Silakan minta kode baru.',
  redirect: 'Mengalihkan ke halaman masuk…',
  resent: 'Kode baru diminta. Kode sebelumnya tidak berlaku lagi.',
};
// What became of the message with the code, as the line under the code field says it.
const DELIVERY = {
  pending: 'Mengirim kode ke WhatsApp…',
  sent: 'Kode terkirim, menunggu sampai di ponsel Anda…',
  delivered: 'Kode sudah sampai di WhatsApp Anda.',
  not_on_whatsapp: (last4) => `Nomor berakhiran ${last4} tidak memiliki akun WhatsApp, jadi kode tidak dapat dikirim. `
    + 'Periksa kembali nomor Anda. Jika nomor sudah benar, hubungi layanan pelanggan Tiket Kita.',
  failed: 'Kode gagal dikirim. Silakan coba kirim ulang sebentar lagi.',
  unknown: 'Status pengiriman tidak tersedia. Jika kode belum masuk, kirim ulang kode.',
};

const $ = (id) => document.getElementById(id);
const el = {
  steps: [$('step-1'), $('step-2'), $('step-3')],
  indicators: Array.from(document.querySelectorAll('.steps__item')),
  nama: $('nama'), noHp: $('noHp'), otp: $('otp'),
  newPassword: $('newPassword'), confirmPassword: $('confirmPassword'), showPassword: $('show-password'),
  requestBtn: $('request-otp'), verifyBtn: $('verify-otp'), resendBtn: $('resend-otp'),
  resetBtn: $('reset-password'), changeNumber: $('change-number'), step2Actions: $('step-2-actions'),
  maskedPhone: $('masked-phone'), countdown: $('countdown'), devNote: $('dev-note'),
  error: $('error'), info: $('info'),
  delivery: $('delivery'), deliveryText: $('delivery-text'), deliveryActions: $('delivery-actions'),
  deliveryEdit: $('delivery-edit'), deliveryResend: $('delivery-resend'),
};

const state = loadState();
let verifiedOtp = ''; // used only if the server issues no resetToken; never stored
let inFlight = false;
let expiredShown = false;
let redirecting = false;
let pollTimer = 0;
let pollWait = POLL_FIRST_MS;
let polling = false; // a /delivery-status request is under way

// ---- Stored state ----

function loadState() {
  const fresh = {
    step: 1, nama: '', noHp: '', phoneNumber: '', expiresAt: 0, cooldownUntil: 0, resetToken: '',
    requestId: '', delivery: '',
  };
  let saved = {};
  try {
    saved = JSON.parse(sessionStorage.getItem(STORAGE_KEY) || '{}') || {};
  } catch { /* unreadable or unavailable: start over */ }
  for (const key of Object.keys(fresh)) {
    if (typeof saved[key] === typeof fresh[key]) fresh[key] = saved[key];
  }
  if (![1, 2, 3].includes(fresh.step) || !fresh.nama || !fresh.noHp) fresh.step = 1;
  if (fresh.step === 3 && !fresh.resetToken) fresh.step = 2;
  return fresh;
}

// Without storage (private mode) the flow still works, only not across reloads.
function saveState() {
  try { sessionStorage.setItem(STORAGE_KEY, JSON.stringify(state)); } catch { /* no storage */ }
}

function clearState() {
  try { sessionStorage.removeItem(STORAGE_KEY); } catch { /* no storage */ }
}

// ---- Server ----

// Always resolves to an answer with `success` and a `message` safe to show as text.
async function postJson(url, body) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'Accept-Language': 'id' },
      body: JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
      signal: controller.signal,
    });
    const data = await response.json().catch(() => null);
    if (!data || typeof data !== 'object' || typeof data.message !== 'string') {
      return { success: false, error: 'bad_response', message: MSG.server, httpStatus: response.status };
    }
    return { ...data, success: data.success === true && response.ok, httpStatus: response.status };
  } catch {
    return { success: false, error: 'network', message: MSG.network };
  } finally {
    clearTimeout(timer);
  }
}

// Runs one request with a spinner on its button and every action disabled meanwhile.
async function send(button, path, body) {
  inFlight = true;
  button.classList.add('is-busy');
  updateButtons();
  const answer = await postJson(API + path, body); // never throws
  inFlight = false;
  button.classList.remove('is-busy');
  updateButtons();
  return answer;
}

// ---- Messages ----

function clearMessages() {
  el.error.textContent = '';
  el.info.textContent = '';
  document.querySelectorAll('[aria-invalid]').forEach((input) => input.removeAttribute('aria-invalid'));
}

function showError(message, field) {
  el.info.textContent = '';
  el.error.textContent = message;
  if (field) {
    field.setAttribute('aria-invalid', 'true');
    field.focus();
  }
}

function showInfo(message) {
  el.error.textContent = '';
  el.info.textContent = message;
}

function showServerError(answer) {
  showError(answer.message, el[FIELD_FOR_ERROR[answer.error]]);
}

function asSentence(text) {
  return /[.!?…]$/.test(text) ? text : `${text}.`;
}

function showDevNote(testOtp) {
  el.devNote.textContent = testOtp ? `Mode pengembangan: kode OTP Anda ${testOtp}` : '';
  el.devNote.hidden = !testOtp;
}

// ---- Steps and timers ----

function showStep(step, moveFocus = true) {
  state.step = step;
  saveState();
  el.steps.forEach((section, i) => { section.hidden = i + 1 !== step; });
  el.step2Actions.hidden = step !== 2; // below the messages, so errors sit right under the form
  el.indicators.forEach((item, i) => {
    item.classList.toggle('is-done', i + 1 < step);
    item.classList.toggle('is-current', i + 1 === step);
    if (i + 1 === step) item.setAttribute('aria-current', 'step');
    else item.removeAttribute('aria-current');
  });
  clearMessages();
  el.maskedPhone.textContent = maskPhone(state.phoneNumber || state.noHp);
  showDelivery(state.delivery);
  tick();
  if (step === 2) startPolling();
  else stopPolling();
  if (moveFocus) el.steps[step - 1].querySelector('input').focus();
}

function maskPhone(phone) {
  const digits = phone.replace(/\D/g, '');
  return '•'.repeat(Math.max(0, digits.length - 4)) + digits.slice(-4);
}

function secondsLeft(until) {
  return Math.max(0, Math.ceil((until - Date.now()) / 1000));
}

function formatClock(seconds) {
  const pad = (n) => String(n).padStart(2, '0');
  return `${pad(Math.floor(seconds / 60))}:${pad(seconds % 60)}`;
}

function updateButtons() {
  const waiting = secondsLeft(state.cooldownUntil);
  el.requestBtn.disabled = inFlight;
  el.verifyBtn.disabled = inFlight || secondsLeft(state.expiresAt) === 0;
  const resendLabel = waiting > 0
    ? `Kirim ulang (${waiting <= 90 ? `${waiting} dtk` : formatClock(waiting)})`
    : 'Kirim ulang kode';
  for (const button of [el.resendBtn, el.deliveryResend]) {
    button.disabled = inFlight || waiting > 0;
    button.textContent = resendLabel;
  }
  el.resetBtn.disabled = inFlight || redirecting;
}

function tick() {
  const left = secondsLeft(state.expiresAt);
  el.countdown.textContent = formatClock(left);
  if (left === 0 && state.step === 2 && !expiredShown) {
    expiredShown = true;
    setDelivery('');
    showError(MSG.expired);
  }
  updateButtons();
}

function startCooldown(seconds) {
  state.cooldownUntil = Date.now() + seconds * 1000;
  saveState();
  updateButtons();
}

// A code was sent: restart the 15-minute countdown and the resend cooldown.
function codeSent(answer) {
  state.phoneNumber = typeof answer.phoneNumber === 'string' ? answer.phoneNumber : '';
  state.expiresAt = Date.now() + OTP_TTL_MS;
  state.resetToken = '';
  state.requestId = typeof answer.requestId === 'string' ? answer.requestId : '';
  verifiedOtp = '';
  expiredShown = false;
  el.otp.value = '';
  startCooldown(DEFAULT_COOLDOWN_S);
  showDevNote(answer.testOTP);
  // Without a request id (a server without delivery status) the line says nothing.
  setDelivery(state.requestId ? 'pending' : '');
  startPolling();
}

// The server refused a send (429/503): wait as long as it asks before resending.
function refusedSend(answer) {
  const wait = Number(answer.retryAfter);
  if (Number.isFinite(wait) && wait > 0) startCooldown(Math.ceil(wait));
}

// The code can no longer be used: stop the countdown and offer a new one.
function invalidateCode(message) {
  state.expiresAt = 0;
  expiredShown = true;
  setDelivery('');
  tick();
  showError(message);
  if (!el.resendBtn.disabled) el.resendBtn.focus();
}

// ---- Delivery of the code ----

// (Object.hasOwn is younger than some phones' browsers.)
function isStatus(status) {
  return typeof status === 'string' && Object.prototype.hasOwnProperty.call(DELIVERY, status);
}

// Shows what became of the message with the code ('' says nothing: no request id, or no code).
function showDelivery(status) {
  const known = isStatus(status) ? status : '';
  const text = DELIVERY[known] || '';
  const digits = (state.phoneNumber || state.noHp).replace(/\D/g, '');
  const message = typeof text === 'function' ? text(digits.slice(-4)) : text;
  el.delivery.dataset.status = known;
  // Rewriting the same text would be announced again.
  if (el.deliveryText.textContent !== message) el.deliveryText.textContent = message;
  el.deliveryEdit.hidden = known !== 'not_on_whatsapp';
  el.deliveryResend.hidden = known !== 'failed';
  el.deliveryActions.hidden = el.deliveryEdit.hidden && el.deliveryResend.hidden;
}

function setDelivery(status) {
  state.delivery = status;
  saveState();
  showDelivery(status);
}

// Asks only on the code step, for a live code whose fate is still open, while the page is seen.
function shouldPoll() {
  return state.step === 2 && state.requestId !== '' && secondsLeft(state.expiresAt) > 0
    && !document.hidden && (state.delivery === 'pending' || state.delivery === 'sent');
}

function stopPolling() {
  clearTimeout(pollTimer);
  pollTimer = 0;
}

function schedulePoll(wait) {
  stopPolling();
  if (shouldPoll()) pollTimer = setTimeout(pollDelivery, wait);
}

async function pollDelivery() {
  pollTimer = 0;
  if (polling || !shouldPoll()) return;
  const { requestId } = state;
  polling = true;
  const answer = await postJson(`${API}/delivery-status`, { requestId }); // never throws
  polling = false;
  if (requestId !== state.requestId) {
    // A new code was requested meanwhile; its own polling goes on (or starts now).
    if (!pollTimer) schedulePoll(pollWait);
    return;
  }
  let wait = pollWait;
  pollWait = Math.min(pollWait * POLL_GROWTH, POLL_MAX_MS);
  if (answer.success && isStatus(answer.status) && answer.status !== 'unknown') {
    if (answer.status !== state.delivery) setDelivery(answer.status);
  } else if (answer.httpStatus === 404 || answer.httpStatus === 400) {
    // Unknown or expired id (or a server without the route): nothing more to learn.
    return setDelivery(secondsLeft(state.expiresAt) > 0 ? 'unknown' : '');
  } else if (Number(answer.retryAfter) > 0) {
    wait = Math.max(wait, Number(answer.retryAfter) * 1000);
  } // else: offline or a server hiccup; ask again later
  schedulePoll(wait);
}

function startPolling() {
  pollWait = POLL_FIRST_MS;
  schedulePoll(POLL_FIRST_MS);
}

function onVisibilityChange() {
  tick();
  if (document.hidden) stopPolling();
  else schedulePoll(0);
}

// ---- Client-side checks (mirroring the server) ----

function checkAccount(nama, noHp) {
  if (!nama) return { message: 'Nama harus diisi', field: el.nama };
  if (!noHp) return { message: 'NoHp harus diisi', field: el.noHp };
  const digits = noHp.replace(/[\s\-.()]/g, '').replace(/^\+/, '');
  if (!/^\d{9,15}$/.test(digits)) return { message: 'Nomor HP tidak valid. Contoh: 081234567890', field: el.noHp };
  return null;
}

function checkPasswords(newPassword, confirmPassword) {
  if (!newPassword) return { message: 'Password baru harus diisi', field: el.newPassword };
  if (!confirmPassword) return { message: 'Konfirmasi password harus diisi', field: el.confirmPassword };
  if (Array.from(newPassword).length < 6) return { message: 'Password minimal 6 karakter', field: el.newPassword };
  if (newPassword !== confirmPassword) {
    return { message: 'Password dan konfirmasi password tidak sama', field: el.confirmPassword };
  }
  return null;
}

// ---- Actions ----

async function onRequestOtp(event) {
  event.preventDefault();
  clearMessages();
  const nama = el.nama.value.trim();
  const noHp = el.noHp.value.trim();
  const problem = checkAccount(nama, noHp);
  if (problem) return showError(problem.message, problem.field);

  const answer = await send(el.requestBtn, '/request-otp', { nama, noHp });
  if (!answer.success) {
    refusedSend(answer);
    return showServerError(answer);
  }
  state.nama = nama;
  state.noHp = noHp;
  codeSent(answer);
  // Not the server's "sent" message: the line under the code field says what became of it.
  showStep(2);
}

async function onResendOtp(event) {
  clearMessages();
  const body = { nama: state.nama, noHp: state.noHp };
  const answer = await send(event.currentTarget, '/request-otp', body);
  if (!answer.success) {
    refusedSend(answer);
    return showError(answer.message);
  }
  codeSent(answer);
  tick();
  showInfo(MSG.resent);
  el.otp.focus();
}

async function onVerifyOtp(event) {
  event.preventDefault();
  clearMessages();
  const otp = el.otp.value.trim();
  if (!/^\d{6}$/.test(otp)) return showError('OTP harus 6 digit angka', el.otp);

  const answer = await send(el.verifyBtn, '/verify-otp', { noHp: state.noHp, otp });
  if (!answer.success) return verifyFailed(answer);
  const token = answer.data && typeof answer.data.resetToken === 'string' ? answer.data.resetToken : '';
  state.resetToken = token;
  verifiedOtp = token ? '' : otp;
  el.otp.value = '';
  showDevNote('');
  showStep(3);
  showInfo(answer.message);
}

function verifyFailed(answer) {
  if (NEEDS_NEW_CODE.includes(answer.error)) return invalidateCode(answer.message);
  showServerError(answer);
  if (answer.error === 'wrong_otp') el.otp.select();
}

async function onResetPassword(event) {
  event.preventDefault();
  clearMessages();
  const newPassword = el.newPassword.value;
  const confirmPassword = el.confirmPassword.value;
  const problem = checkPasswords(newPassword, confirmPassword);
  if (problem) return showError(problem.message, problem.field);

  const body = { noHp: state.noHp, newPassword, confirmPassword };
  if (state.resetToken) body.resetToken = state.resetToken;
  else body.otp = verifiedOtp;
  const answer = await send(el.resetBtn, '/reset-password', body);
  if (answer.success) return finish(answer.message);
  if (answer.error !== 'wrong_otp' && !String(answer.error).startsWith('otp_')) return showServerError(answer);

  // The proof of the code is no longer good: back to step 2 (and a new code if needed).
  state.resetToken = '';
  verifiedOtp = '';
  clearPasswords();
  showStep(2);
  if (NEEDS_NEW_CODE.includes(answer.error)) return invalidateCode(answer.message);
  showError(answer.message, el.otp);
}

function finish(message) {
  redirecting = true;
  clearState();
  clearPasswords();
  updateButtons();
  showInfo(`${asSentence(message)} ${MSG.redirect}`);
  setTimeout(() => window.location.assign('/login.html?reset=1'), REDIRECT_DELAY_MS);
}

function clearPasswords() {
  el.newPassword.value = '';
  el.confirmPassword.value = '';
}

function onChangeNumber() {
  showDevNote('');
  showStep(1, false);
  el.noHp.focus();
  el.noHp.select();
}

function onShowPassword() {
  const type = el.showPassword.checked ? 'text' : 'password';
  el.newPassword.type = type;
  el.confirmPassword.type = type;
}

// The code field keeps only digits; a pasted "123 456" would be cut short by maxlength.
function onOtpInput() {
  const digits = el.otp.value.replace(/\D/g, '').slice(0, 6);
  if (digits !== el.otp.value) el.otp.value = digits;
}

function onOtpPaste(event) {
  const digits = event.clipboardData.getData('text').replace(/\D/g, '').slice(0, 6);
  if (!digits) return;
  event.preventDefault();
  el.otp.value = digits;
}

// ---- Start ----

function init() {
  $('form-request').addEventListener('submit', onRequestOtp);
  $('form-verify').addEventListener('submit', onVerifyOtp);
  $('form-reset').addEventListener('submit', onResetPassword);
  el.resendBtn.addEventListener('click', onResendOtp);
  el.changeNumber.addEventListener('click', onChangeNumber);
  el.deliveryResend.addEventListener('click', onResendOtp);
  el.deliveryEdit.addEventListener('click', onChangeNumber);
  el.showPassword.addEventListener('change', onShowPassword);
  el.otp.addEventListener('input', onOtpInput);
  el.otp.addEventListener('paste', onOtpPaste);

  el.nama.value = state.nama;
  el.noHp.value = state.noHp;
  showStep(state.step, false);
  setInterval(tick, 1000);
  document.addEventListener('visibilitychange', onVisibilityChange);
}

init();
