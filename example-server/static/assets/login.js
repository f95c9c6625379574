'use strict';

// Masuk: POST /api/auth/login with the phone number and password.

const REQUEST_TIMEOUT_MS = 30000;
const MSG = {
  network: 'Tidak dapat terhubung ke server. Periksa koneksi Anda.',
  server: 'Terjadi gangguan pada server. Silakan coba lagi nanti.',
  failed: 'Nomor WhatsApp atau sandi salah.',
  resetDone: 'Sandi berhasil diubah. Silakan masuk dengan sandi baru.',
};

const $ = (id) => document.getElementById(id);
const el = {
  form: $('form-login'),
  noHp: $('noHp'),
  password: $('password'),
  showPassword: $('show-password'),
  button: $('login'),
  error: $('error'),
  info: $('info'),
};

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
    if (!data || typeof data !== 'object') {
      return { success: false, message: response.status === 401 ? MSG.failed : MSG.server };
    }
    return { ...data, success: data.success === true && response.ok };
  } catch {
    return { success: false, message: MSG.network };
  } finally {
    clearTimeout(timer);
  }
}

function clearMessages() {
  el.error.textContent = '';
  el.info.textContent = '';
  el.noHp.removeAttribute('aria-invalid');
  el.password.removeAttribute('aria-invalid');
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

function setBusy(busy) {
  el.button.disabled = busy;
  el.button.classList.toggle('is-busy', busy);
}

function checkForm(noHp, password) {
  if (!noHp) return { message: 'NoHp harus diisi', field: el.noHp };
  if (!password) return { message: 'Sandi harus diisi', field: el.password };
  return null;
}

async function onLogin(event) {
  event.preventDefault();
  clearMessages();
  const noHp = el.noHp.value.trim();
  const password = el.password.value;
  const problem = checkForm(noHp, password);
  if (problem) return showError(problem.message, problem.field);

  setBusy(true);
  const answer = await postJson('/api/auth/login', { noHp, password });
  setBusy(false);
  if (!answer.success) {
    el.password.select();
    return showError(typeof answer.message === 'string' && answer.message ? answer.message : MSG.failed);
  }
  const nama = answer.data && typeof answer.data.nama === 'string' ? answer.data.nama : '';
  el.password.value = '';
  showInfo(nama ? `Berhasil masuk. Selamat datang, ${nama}!` : 'Berhasil masuk. Selamat datang!');
}

function onShowPassword() {
  el.password.type = el.showPassword.checked ? 'text' : 'password';
}

function init() {
  el.form.addEventListener('submit', onLogin);
  el.showPassword.addEventListener('change', onShowPassword);
  if (new URLSearchParams(window.location.search).get('reset') === '1') showInfo(MSG.resetDone);
}

init();
